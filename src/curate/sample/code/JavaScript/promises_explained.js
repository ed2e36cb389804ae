// Understanding Promises and async/await, step by step.
//
// JavaScript runs one thing at a time. Slow operations (network requests,
// timers, reading files) do not block the program; instead they return a
// Promise: an object that will later be either fulfilled with a value or
// rejected with an error.

// Step 1: a function that returns a Promise.
// `wait` resolves after `ms` milliseconds with the given value.
function wait(ms, value) {
  return new Promise((resolve) => {
    setTimeout(() => resolve(value), ms);
  });
}

// Step 2: consuming a Promise with .then() and .catch().
// The callback passed to .then() runs only when the Promise is fulfilled.
wait(100, "first").then((result) => {
  console.log("then() received:", result);
});

// Step 3: async/await does the same thing with code that reads top to bottom.
// `await` pauses this function (not the whole program) until the Promise settles.
async function cookBreakfast() {
  console.log("start toast");
  const toast = await wait(200, "toast");
  console.log("start eggs");
  const eggs = await wait(300, "eggs");
  return `${toast} and ${eggs}`; // total about 500 ms: one after the other
}

// Step 4: run independent tasks at the same time with Promise.all.
// Both timers start immediately, so this takes about 300 ms, not 500 ms.
async function cookFaster() {
  const [toast, eggs] = await Promise.all([wait(200, "toast"), wait(300, "eggs")]);
  return `${toast} and ${eggs}`;
}

// Step 5: errors. A rejected Promise makes `await` throw, so use try/catch.
async function main() {
  console.log(await cookBreakfast());
  console.log(await cookFaster());
  try {
    await Promise.reject(new Error("burnt the toast"));
  } catch (error) {
    console.log("caught:", error.message);
  }
}

main();
