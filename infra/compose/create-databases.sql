-- Each service owns its database (docker-compose.yml's postgres runs this once, on an empty data volume).
CREATE DATABASE pages;
CREATE DATABASE partners;
CREATE DATABASE stories;
CREATE DATABASE newsletter;
CREATE DATABASE staff;
