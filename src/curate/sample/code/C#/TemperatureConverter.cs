using System;

namespace Converters
{
    // Converts temperatures between Celsius and Fahrenheit.
    public static class TemperatureConverter
    {
        public static double ToFahrenheit(double celsius) => celsius * 9 / 5 + 32;

        public static double ToCelsius(double fahrenheit) => (fahrenheit - 32) * 5 / 9;

        public static void Main()
        {
            // Print a small table from -10 to 40 degrees Celsius.
            for (int c = -10; c <= 40; c += 10)
            {
                Console.WriteLine($"{c,4} C = {ToFahrenheit(c),6:F1} F");
            }
        }
    }
}
