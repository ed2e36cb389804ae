// LINQ basics: querying collections with Where, Select and OrderBy.
//
// LINQ (Language Integrated Query) lets you describe WHAT you want from a
// collection instead of writing loops that say HOW to get it.
using System;
using System.Collections.Generic;
using System.Linq;

public record Student(string Name, int Score);

public static class LinqBasics
{
    public static void Main()
    {
        var students = new List<Student>
        {
            new("Ada", 91), new("Ben", 67), new("Chen", 78), new("Dina", 85),
        };

        // Where filters: keep only students who scored at least 80.
        var top = students.Where(s => s.Score >= 80);

        // OrderByDescending sorts, Select transforms each item into a new shape.
        var names = top.OrderByDescending(s => s.Score).Select(s => s.Name);
        Console.WriteLine(string.Join(", ", names)); // Ada, Dina

        // Aggregates such as Average work on the whole sequence.
        Console.WriteLine(students.Average(s => s.Score)); // 80.25

        // Note: LINQ queries are lazy. `top` is not computed until it is used,
        // so adding a student to the list before the loop below changes the result.
        students.Add(new("Eve", 99));
        Console.WriteLine(top.Count()); // 3, Eve included
    }
}
