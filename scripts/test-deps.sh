#!/bin/sh
# Installs what the tests need and this machine lacks: PostgreSQL server
# binaries (the tests start their own private server) and Chromium (the
# browser tests). Uses apt-get, so it needs root; otherwise it says what to do.
set -eu

need=""
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	need="$need postgresql"
fi
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then
	need="$need chromium"
fi
if [ -n "$need" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "The tests need:$need. Install them (sudo apt-get install$need) or run make test as root." >&2
		exit 1
	fi
	echo "Installing$need ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || apt-get update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need fonts-liberation >/dev/null
fi
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
	# initdb refuses to run as root; the private servers run as this user.
	useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
fi
exit 0
