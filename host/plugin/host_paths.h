// Where the running host's own files are: relative to its executable, so an
// unpacked or relocated install finds them as an installed one does.
#pragma once

#include <string>

namespace streams::plugin {

// The directory of the running executable (/proc/self/exe); "." if unknown.
std::string executable_dir();

}  // namespace streams::plugin
