# The Debian package (cpack -G DEB in a build directory, after a build):
# streams-host with the bundled plugins, the Python bridge, the plugin SDK
# (headers and CMake package), the systemd template unit and the docs, under
# /usr. Its dependencies come from dpkg-shlibdeps (the shared libraries the
# binaries link).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/streams@.service
  DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION share/doc/streams-host)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION share/doc/streams-host/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME streams-host)
set(CPACK_PACKAGE_VENDOR "streams")
set(CPACK_PACKAGE_CONTACT "streams maintainers <streams@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Streaming pipelines over Kafka with hot-reloaded C++ and Python transforms")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "kcat")
set(CPACK_STRIP_FILES ON)
# Maintainer scripts: an upgrade restarts the running instances, a removal
# stops them (packaging/debian/).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
