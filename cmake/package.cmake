# CPack: devattest-agent, devattest-server and devattest-verify as .deb and
# .rpm (scripts/package builds them from a tree configured with
# CMAKE_INSTALL_PREFIX=/usr). What each package holds and why:
# docs/operations.md, "Packages".
set(CPACK_PACKAGE_NAME devattest)
set(CPACK_PACKAGE_VENDOR "devattest")
set(CPACK_PACKAGE_CONTACT "devattest maintainers <devattest@example.org>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_HOMEPAGE_URL "https://devattest.example.org/")
set(CPACK_COMPONENTS_ALL agent server verify)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB RPM)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})

set(DA_PKG_SUMMARY_agent "TPM-bound posture reports from build machines")
set(DA_PKG_SUMMARY_server "server that enrolls build machines and verifies their reports")
set(DA_PKG_SUMMARY_verify "offline verifier of devattest evidence")
set(DA_PKG_TEXT_agent
  "The devattest agent runs on a vendor's build machine. It collects the
machine's security posture (patch state, disk encryption, isolation,
toolchain integrity, separation from production), binds the document to
the machine's TPM with a quote over a server nonce and delivers it to the
customer's devattest server.")
set(DA_PKG_TEXT_server
  "The devattest server enrolls build machines whose TPM endorsement key
chains to a trusted manufacturer, verifies every report's TPM quote,
evaluates the evidence against a policy mapped to ISO/IEC 27001:2022
Annex A 8.30 and 8.31 and keeps the history.")
set(DA_PKG_TEXT_verify
  "devattest-verify checks devattest evidence offline, without a server:
firmware event logs and dbx references.")

# Debian.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(DA_DEB_SYSTEMD "systemd | systemd-standalone-sysusers | systemd-sysusers, systemd | systemd-standalone-tmpfiles | systemd-tmpfiles")
# libcurl and the TPM transport are opened at run time, so dpkg-shlibdeps
# cannot see them.
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "libcurl4, libtss2-tcti-device0, ${DA_DEB_SYSTEMD}")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "tpm-udev")
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "${DA_DEB_SYSTEMD}")
set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "devattest-verify")

# RPM.
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "none granted")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_URL ${CPACK_PACKAGE_HOMEPAGE_URL})
set(CPACK_RPM_SPEC_MORE_DEFINE "%define packager ${CPACK_PACKAGE_CONTACT}")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
  /etc /lib /lib/systemd /lib/systemd/system /usr/lib/systemd /usr/lib/systemd/system
  /usr/lib/sysusers.d /usr/lib/tmpfiles.d /usr/share/man /usr/share/man/man1
  /usr/share/man/man5 /usr/share/man/man8 /usr/share/doc)

foreach(part agent server verify)
  string(TOUPPER ${part} P)
  set(CPACK_DEBIAN_${P}_PACKAGE_NAME devattest-${part})
  set(CPACK_RPM_${P}_PACKAGE_NAME devattest-${part})
  set(CPACK_RPM_${P}_FILE_NAME RPM-DEFAULT)
  set(CPACK_DEBIAN_${P}_DESCRIPTION "${DA_PKG_SUMMARY_${part}}\n${DA_PKG_TEXT_${part}}")
  string(SUBSTRING "${DA_PKG_SUMMARY_${part}}" 0 1 first)
  string(SUBSTRING "${DA_PKG_SUMMARY_${part}}" 1 -1 rest)
  string(TOUPPER "${first}" first)
  set(CPACK_RPM_${P}_PACKAGE_SUMMARY "${first}${rest}") # RPM capitalises, Debian does not
  set(CPACK_RPM_${P}_PACKAGE_DESCRIPTION "${DA_PKG_TEXT_${part}}")
endforeach()

foreach(part agent server)
  string(TOUPPER ${part} P)
  foreach(script postinst prerm postrm conffiles)
    configure_file(${PROJECT_SOURCE_DIR}/packaging/deb/${part}.${script}
                   ${PROJECT_BINARY_DIR}/packaging/deb/${part}/${script} @ONLY)
  endforeach()
  set(d ${PROJECT_BINARY_DIR}/packaging/deb/${part})
  set(CPACK_DEBIAN_${P}_PACKAGE_CONTROL_EXTRA "${d}/postinst;${d}/prerm;${d}/postrm;${d}/conffiles")
  set(CPACK_RPM_${P}_USER_FILELIST "%config(noreplace) ${DA_FULL_CONFDIR}/${part}.conf")
  set(CPACK_RPM_${P}_POST_INSTALL_SCRIPT_FILE ${PROJECT_SOURCE_DIR}/packaging/rpm/${part}-post.sh)
  set(CPACK_RPM_${P}_PRE_UNINSTALL_SCRIPT_FILE ${PROJECT_SOURCE_DIR}/packaging/rpm/${part}-preun.sh)
  set(CPACK_RPM_${P}_POST_UNINSTALL_SCRIPT_FILE ${PROJECT_SOURCE_DIR}/packaging/rpm/${part}-postun.sh)
endforeach()

include(CPack)
