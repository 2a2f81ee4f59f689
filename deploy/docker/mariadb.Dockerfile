# MariaDB 10.11 from Debian's package on the local base, for machines without a
# registry. It takes the official mariadb image's variables (MARIADB_DATABASE,
# MARIADB_USER, MARIADB_PASSWORD, MARIADB_ROOT_PASSWORD) and data path, so
# docker-compose.yml runs either.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends mariadb-server \
 && rm -rf /var/lib/apt/lists/* /var/lib/mysql/* \
 && mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld /var/lib/mysql
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]
