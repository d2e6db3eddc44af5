#!/bin/sh
# The format check (ctest build.format): every C and C++ source of the tree
# is as clang-format (.clang-format) writes it. Prints the offending places.
set -eu
cd "$(dirname "$0")/.."
find host plugin_sdk plugins tests \( -name '*.cc' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' \) \
  -not -path '*/target/*' -print0 | xargs -0 clang-format --dry-run -Werror
echo "format: ok"
