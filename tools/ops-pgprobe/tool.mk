ops-pgprobe_PKGS := libpq
