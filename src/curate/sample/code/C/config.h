#ifndef CONFIG_H
#define CONFIG_H

#define BUFFER_SIZE 4096
#define DEFAULT_PORT 8080
#define MAX_CLIENTS 64
#define LOG_FILE "/var/log/server.log"

#endif
