# Firewall facts against real packets between two network namespaces.
da_unit_test(NAME test_firewall_oracle SOURCES ${DA_TEST_SRC}/integration/test_firewall_oracle.c
  ${DA_TEST_SRC}/support/tmptree.c
  LIBS da_collectors LABELS integration collectors)
add_dependencies(test_firewall_oracle da-nft-dump)
if(TARGET devattest-agent)
  add_dependencies(test_firewall_oracle devattest-agent)
endif()
