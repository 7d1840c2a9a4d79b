ops-pgprobe_PKGS := libpq libmicrohttpd
