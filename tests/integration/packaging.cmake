# Packaging: what `cmake --install` lays out, and the systemd units of this
# build (tests/packaging/). The .deb and .rpm packages themselves are built
# and checked once per scripts/test run (scripts/package,
# tests/packaging/check-packages), not here.
if(DA_MAN)
  add_test(NAME packaging_install_layout
    COMMAND ${DA_TEST_SRC}/packaging/check-install ${PROJECT_BINARY_DIR} ${CMAKE_INSTALL_PREFIX}
            ${CMAKE_INSTALL_FULL_SYSCONFDIR} ${DA_SYSTEMD_UNITDIR} ${DA_SYSTEMD_SYSUSERSDIR}
            ${DA_SYSTEMD_TMPFILESDIR})
  add_test(NAME packaging_systemd_units
    COMMAND ${DA_TEST_SRC}/packaging/check-units ${PROJECT_BINARY_DIR} ${CMAKE_INSTALL_PREFIX})
  set_tests_properties(packaging_install_layout packaging_systemd_units
    PROPERTIES LABELS "packaging" TIMEOUT 300)
  set_tests_properties(packaging_systemd_units PROPERTIES SKIP_RETURN_CODE 77)
endif()
