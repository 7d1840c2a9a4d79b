ops-promote_PKGS := libcurl libgit2 libcrypto
