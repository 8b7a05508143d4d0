# What `cmake --install` and the packages put where (docs/operations.md,
# "Files"). Components: agent, server, verify — one package each.
#
# With CMAKE_INSTALL_PREFIX=/usr (the packages) GNUInstallDirs puts the
# configuration in /etc and the state in /var; with another prefix (the
# default /usr/local) everything stays below it, and the units name the
# installed paths, so an installed unit always starts the installed binary.
include(GNUInstallDirs)

set(DA_FULL_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(DA_FULL_CONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/devattest)
set(DA_FULL_DATADIR ${CMAKE_INSTALL_FULL_DATADIR}/devattest)

# systemd's directories: those of the running distribution under /usr, the
# same layout below any other prefix.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(DA_PC_UNITDIR systemd systemdsystemunitdir)
  pkg_get_variable(DA_PC_SYSUSERSDIR systemd sysusersdir)
  pkg_get_variable(DA_PC_TMPFILESDIR systemd tmpfilesdir)
endif()
foreach(v UNITDIR:lib/systemd/system SYSUSERSDIR:lib/sysusers.d TMPFILESDIR:lib/tmpfiles.d)
  string(REPLACE ":" ";" pair ${v})
  list(GET pair 0 name)
  list(GET pair 1 rel)
  if(DA_PC_${name})
    set(default ${DA_PC_${name}})
  else()
    set(default ${CMAKE_INSTALL_PREFIX}/${rel})
  endif()
  set(DA_SYSTEMD_${name} ${default} CACHE PATH "Where ${rel} files are installed")
endforeach()

# Programs.
install(TARGETS devattest-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(TARGETS devattest-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(TARGETS devattest-verify RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT verify)
# The load generator ships with the server: it tests a server that allows
# software agents (test_software_agents, docs/loadgen.md).
install(TARGETS devattest-loadgen RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)

# Configuration, units, system users, state directories.
set(DA_PKG ${PROJECT_SOURCE_DIR}/packaging)
set(DA_GEN ${PROJECT_BINARY_DIR}/packaging)
configure_file(${DA_PKG}/server.conf ${DA_GEN}/server.conf @ONLY)
foreach(part agent server)
  configure_file(${DA_PKG}/systemd/devattest-${part}.service.in
                 ${DA_GEN}/devattest-${part}.service @ONLY)
  install(FILES ${DA_GEN}/devattest-${part}.service
          DESTINATION ${DA_SYSTEMD_UNITDIR} COMPONENT ${part})
  install(FILES ${DA_PKG}/sysusers/devattest-${part}.conf
          DESTINATION ${DA_SYSTEMD_SYSUSERSDIR} COMPONENT ${part})
  install(FILES ${DA_PKG}/tmpfiles/devattest-${part}.conf
          DESTINATION ${DA_SYSTEMD_TMPFILESDIR} COMPONENT ${part})
endforeach()
install(FILES ${DA_PKG}/agent.conf DESTINATION ${DA_FULL_CONFDIR} COMPONENT agent)
install(FILES ${DA_GEN}/server.conf DESTINATION ${DA_FULL_CONFDIR} COMPONENT server)

# Data: the shipped policy.
install(FILES ${PROJECT_SOURCE_DIR}/common/policies/iso27001-2022-devenv.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/devattest/policies COMPONENT server)
# Data: the TPM makers' EK CA certificates (server.conf ek_roots default;
# docs/enrollment.md) and the empty directory for the operator's own.
install(DIRECTORY ${DA_PKG}/ek-roots/ DESTINATION ${CMAKE_INSTALL_DATADIR}/devattest/ek-roots
        COMPONENT server FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        FILES_MATCHING PATTERN "*.pem")
install(DIRECTORY DESTINATION ${DA_FULL_CONFDIR}/ek-roots.d COMPONENT server)
target_compile_definitions(da_server PRIVATE SRV_EK_ROOTS_DEFAULT="${DA_FULL_DATADIR}/ek-roots")

find_program(DA_GZIP gzip REQUIRED)

# Manual pages: docs/man/*.scd through scdoc, compressed as Debian wants.
option(DA_MAN "Build and install the manual pages (needs scdoc)" ON)
if(DA_MAN)
  find_program(DA_SCDOC scdoc REQUIRED)
  set(DA_MAN_PAGES
    agent:devattest-agent.8 agent:agent.conf.5
    server:devattest-server.8 server:server.conf.5 server:devattest-policy.5
    server:devattest-loadgen.1
    verify:devattest-verify.1)
  set(DA_MAN_OUTPUTS)
  foreach(entry ${DA_MAN_PAGES})
    string(REPLACE ":" ";" pair ${entry})
    list(GET pair 0 component)
    list(GET pair 1 page)
    string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
    set(src ${PROJECT_SOURCE_DIR}/docs/man/${page}.scd)
    set(out ${PROJECT_BINARY_DIR}/man/${page}.gz)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${DA_SCDOC} < ${src} > ${PROJECT_BINARY_DIR}/man/${page}
      COMMAND ${DA_GZIP} -9nf ${PROJECT_BINARY_DIR}/man/${page}
      DEPENDS ${src}
      COMMENT "Manual page ${page}"
      VERBATIM)
    list(APPEND DA_MAN_OUTPUTS ${out})
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT ${component})
  endforeach()
  add_custom_target(da_man ALL DEPENDS ${DA_MAN_OUTPUTS})
endif()

# The agent reads dpkg's status database on purpose: it is the patch state
# the posture reports (docs/evidence.md). Said once, for lintian.
install(FILES ${DA_PKG}/lintian/devattest-agent
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides COMPONENT agent)

# Per-package documentation: copyright and changelog (Debian policy 12.5, 12.7).
set(DA_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(OUTPUT ${DA_CHANGELOG_GZ}
  COMMAND ${CMAKE_COMMAND} -E copy ${DA_PKG}/changelog ${DA_GEN}/changelog
  COMMAND ${DA_GZIP} -9nf ${DA_GEN}/changelog
  DEPENDS ${DA_PKG}/changelog
  VERBATIM)
add_custom_target(da_changelog ALL DEPENDS ${DA_CHANGELOG_GZ})
foreach(part agent server verify)
  install(FILES ${DA_PKG}/copyright ${DA_CHANGELOG_GZ}
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/devattest-${part} COMPONENT ${part})
endforeach()
