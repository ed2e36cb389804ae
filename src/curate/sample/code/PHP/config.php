<?php

return [
    'db_host' => 'localhost',
    'db_name' => 'blog',
    'db_user' => 'blog_user',
    'cache_ttl' => 3600,
    'debug' => false,
];
