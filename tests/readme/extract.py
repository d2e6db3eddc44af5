"""Extracts the README's code so that a build can prove it compiles.

extract.py README.md OUT_DIR writes:
- OUT_DIR/NAME.cc for every ```cpp block whose first line is "// NAME.cc";
- OUT_DIR/out_of_tree/: the ```cmake blocks, in order, as a CMakeLists.txt,
  with the .cc files they name: the plugin project the README describes;
- OUT_DIR/targets.cmake: an in-tree target for every .cc file (a plugin for
  one with STREAMS_PLUGIN, an executable for one with main()).
A ```cpp block without its file name line is an error: every C++ snippet
must be built."""
import os
import re
import sys


def blocks(text, language):
    return re.findall(r"^```" + language + r"\n(.*?)^```", text, re.S | re.M)


def main():
    readme, out = sys.argv[1], sys.argv[2]
    text = open(readme, encoding="utf-8").read()
    os.makedirs(os.path.join(out, "out_of_tree"), exist_ok=True)
    files = {}
    for code in blocks(text, "cpp"):
        m = re.match(r"// (\w+\.cc)\b", code)
        if not m:
            sys.exit(f"{readme}: a ```cpp block does not start with '// NAME.cc':\n{code[:200]}")
        files[m.group(1)] = code
    cmake = "".join(blocks(text, "cmake"))
    targets = []
    for name, code in files.items():
        for where in (out, os.path.join(out, "out_of_tree")):
            with open(os.path.join(where, name), "w", encoding="utf-8") as f:
                f.write(code)
        stem = name[:-3]
        if "int main" in code:
            sources = [name] + (["my_plugin.cc"] if "STREAMS_PLUGIN_ENTRY" in code else [])
            libs = ["plugin_sdk", "${CMAKE_DL_LIBS}"]
            if "pipeline_driver.hpp" in code:
                libs.append("streams_pipeline_driver")
            targets.append(f"add_executable(readme_{stem} "
                           + " ".join(f"${{READMEDIR}}/{s}" for s in sources) + ")\n"
                           f"target_link_libraries(readme_{stem} PRIVATE {' '.join(libs)})\n")
        elif "STREAMS_PLUGIN(" in code:
            targets.append(f"streams_add_plugin(readme_{stem} SOURCES ${{READMEDIR}}/{name})\n")
        else:
            sys.exit(f"{readme}: {name} is neither a plugin nor a program")
        targets.append(f"target_compile_options(readme_{stem} PRIVATE ${{README_STRICT}})\n")
    with open(os.path.join(out, "targets.cmake"), "w", encoding="utf-8") as f:
        f.write("".join(targets))
    with open(os.path.join(out, "out_of_tree", "CMakeLists.txt"), "w", encoding="utf-8") as f:
        f.write(cmake)


if __name__ == "__main__":
    main()
