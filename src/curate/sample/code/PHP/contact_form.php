<?php
$errors = [];
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $name = trim($_POST['name'] ?? '');
    $message = trim($_POST['message'] ?? '');
    if ($name === '') {
        $errors[] = 'Name is required';
    }
    if (strlen($message) < 10) {
        $errors[] = 'Message is too short';
    }
    if (!$errors) {
        file_put_contents('messages.txt', "$name: $message\n", FILE_APPEND);
        header('Location: thanks.html');
        exit;
    }
}
foreach ($errors as $e) {
    echo '<p class="error">' . htmlspecialchars($e) . '</p>';
}
