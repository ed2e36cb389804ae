export interface User {
  id: number;
  name: string;
  email: string;
}

export async function fetchUsers(baseUrl: string): Promise<User[]> {
  const res = await fetch(`${baseUrl}/users`);
  if (!res.ok) {
    throw new Error(`request failed: ${res.status}`);
  }
  return (await res.json()) as User[];
}

export function byName(users: User[], query: string): User[] {
  const q = query.toLowerCase();
  return users.filter((u) => u.name.toLowerCase().includes(q));
}
