const list = document.querySelector("#todos");
const input = document.querySelector("#new-todo");

function addTodo(text) {
  const li = document.createElement("li");
  li.textContent = text;
  li.addEventListener("click", () => li.classList.toggle("done"));
  list.appendChild(li);
}

document.querySelector("#add").addEventListener("click", () => {
  if (input.value.trim()) {
    addTodo(input.value.trim());
    input.value = "";
  }
});
