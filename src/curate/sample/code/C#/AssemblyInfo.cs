using System.Reflection;
using System.Runtime.InteropServices;

[assembly: AssemblyTitle("Inventory.Core")]
[assembly: AssemblyCompany("Example Ltd")]
[assembly: AssemblyVersion("1.2.0.0")]
[assembly: ComVisible(false)]
