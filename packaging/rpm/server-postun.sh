# devattest-server %postun: the state directory and the user are kept.
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null 2>&1 || :; fi
