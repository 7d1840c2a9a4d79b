ops-envcheck_PKGS := libgit2 libcrypto libcurl
