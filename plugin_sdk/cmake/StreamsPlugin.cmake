# streams_add_plugin(<name> SOURCES <src>... [LINK <lib>...])
#
# Builds a streams transform plugin `<name>.so` against the plugin SDK with
# the settings the host relies on: hidden visibility (only the entry symbol is
# exported), -fno-gnu-unique (so the library can really be unloaded on
# reload), no `lib` prefix, and no undefined symbols left for load time.
function(streams_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "streams_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Streams::plugin_sdk ${ARG_LINK})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${name} PRIVATE cxx_std_17)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-gnu-unique>)
  endif()
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  # Without a build type CMake adds no optimisation at all: plugins run on
  # the data path, so build them optimised unless told otherwise.
  get_property(_multi GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(NOT _multi AND NOT CMAKE_BUILD_TYPE)
    target_compile_options(${name} PRIVATE -O2)
  endif()
endfunction()
