#!/bin/sh
export APP_ENV=production
export APP_PORT=8000
export APP_WORKERS=4
export LOG_DIR=/var/log/app
