// Discriminated unions: letting the compiler check every case.
//
// A union type says a value may be one of several shapes. If every shape has
// a common "kind" field with a different literal value, TypeScript can tell
// which shape you have inside each branch of a switch.

type Circle = { kind: "circle"; radius: number };
type Rectangle = { kind: "rectangle"; width: number; height: number };
type Triangle = { kind: "triangle"; base: number; height: number };

// Step 1: the union of the three shapes.
type Shape = Circle | Rectangle | Triangle;

// Step 2: switch on the discriminant. Inside each case the compiler has
// narrowed `shape`, so shape.radius is only allowed in the circle case.
function area(shape: Shape): number {
  switch (shape.kind) {
    case "circle":
      return Math.PI * shape.radius ** 2;
    case "rectangle":
      return shape.width * shape.height;
    case "triangle":
      return (shape.base * shape.height) / 2;
    default: {
      // Step 3: exhaustiveness check. If someone adds a new shape to the
      // union and forgets a case, `shape` is no longer `never` here and the
      // assignment below becomes a compile-time error.
      const unreachable: never = shape;
      return unreachable;
    }
  }
}

const shapes: Shape[] = [
  { kind: "circle", radius: 1 },
  { kind: "rectangle", width: 2, height: 3 },
  { kind: "triangle", base: 4, height: 5 },
];
for (const s of shapes) {
  console.log(s.kind, area(s).toFixed(2));
}
