# devattest-agent %post: the system user and the state directory; the service
# is not enabled (it needs a configuration first).
systemd-sysusers devattest-agent.conf || :
systemd-tmpfiles --create devattest-agent.conf || :
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null 2>&1 || :; fi
