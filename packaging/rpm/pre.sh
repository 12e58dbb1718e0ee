# imgate %pre: the system user and group.
getent group imgate >/dev/null || groupadd -r imgate
getent passwd imgate >/dev/null || useradd -r -g imgate -d /var/lib/imgate -M -s /sbin/nologin -c "imgate server" imgate
exit 0
