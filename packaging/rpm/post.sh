# imgate %post: the JWT secret and the admin API token (each made once,
# never overwritten: 32 random bytes as 64 hex digits, mode 0640
# root:imgate) and the unit's preset where systemd runs. /var/lib/imgate is
# in the package, owned by imgate.
for SECRET in @IMGATE_CONF_DIR@/jwt.secret @IMGATE_CONF_DIR@/admin.token; do
	if [ ! -e "$SECRET" ] && [ ! -L "$SECRET" ]; then
		if ! /usr/bin/imgate-cli secret --secret-file "$SECRET" --group imgate >/dev/null; then
			echo "imgate: could not create $SECRET; imgated needs it: run imgate-cli secret --secret-file $SECRET --group imgate" >&2
			exit 1
		fi
	fi
done
if [ $1 -eq 1 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload preset imgate.service >/dev/null 2>&1 || :
fi
exit 0
