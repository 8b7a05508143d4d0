# devattest-server %post: the system user and the state directory; the service
# is not enabled (it needs a configuration first).
systemd-sysusers devattest-server.conf || :
systemd-tmpfiles --create devattest-server.conf || :
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null 2>&1 || :; fi
