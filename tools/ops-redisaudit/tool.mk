ops-redisaudit_PKGS := hiredis openssl libmicrohttpd
