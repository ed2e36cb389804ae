/*
 * A singly linked list of integers.
 *
 * Each node stores a value and a pointer to the next node. The list itself is
 * just a pointer to the first node (NULL when the list is empty). Unlike an
 * array, inserting at the front takes constant time, but finding the n-th
 * element means walking through n nodes.
 */
#include <stdio.h>
#include <stdlib.h>

struct node {
    int value;
    struct node *next;
};

/* Insert a value at the front. We pass a pointer to the head pointer
 * so the function can make the head point at the new node. */
int push_front(struct node **head, int value) {
    struct node *n = malloc(sizeof *n);
    if (n == NULL) {
        return -1; /* out of memory: report it instead of crashing */
    }
    n->value = value;
    n->next = *head; /* the old first node becomes the second */
    *head = n;
    return 0;
}

/* Walk the list from the head until we reach NULL. */
void print_list(const struct node *head) {
    for (const struct node *cur = head; cur != NULL; cur = cur->next) {
        printf("%d -> ", cur->value);
    }
    printf("NULL\n");
}

/* Every malloc needs a matching free. Save `next` before freeing the node,
 * because the node's memory must not be read after free. */
void free_list(struct node *head) {
    while (head != NULL) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
}

int main(void) {
    struct node *list = NULL;
    for (int i = 1; i <= 3; i++) {
        push_front(&list, i * 10);
    }
    print_list(list); /* 30 -> 20 -> 10 -> NULL */
    free_list(list);
    return 0;
}
