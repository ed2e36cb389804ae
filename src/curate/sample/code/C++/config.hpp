#pragma once

#define APP_NAME "inventory"
#define APP_VERSION_MAJOR 2
#define APP_VERSION_MINOR 4
#define MAX_ITEMS 1024
#define ENABLE_LOGGING 1
