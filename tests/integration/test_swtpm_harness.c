#include "da_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "swtpm_harness.h"

static int tcp_connects(int port)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void test_start_restart_stop(void **state)
{
    struct da_test_swtpm t;
    struct stat st;
    char dir[sizeof(t.dir)];

    (void)state;
    assert_int_equal(da_test_swtpm_start(&t), 0);
    assert_true(t.port > 0);
    assert_true(tcp_connects(t.port));
    assert_int_equal(stat(t.ca_root, &st), 0);
    assert_int_equal(stat(t.ca_issuer, &st), 0);
    assert_non_null(strstr(t.tcti, "swtpm:host=127.0.0.1,port="));

    assert_int_equal(da_test_swtpm_restart(&t), 0);
    assert_true(tcp_connects(t.port));

    memcpy(dir, t.dir, sizeof(dir));
    da_test_swtpm_stop(&t);
    assert_int_not_equal(stat(dir, &st), 0);
    da_test_swtpm_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_restart_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
