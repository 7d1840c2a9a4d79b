ops-redisaudit_PKGS := hiredis
