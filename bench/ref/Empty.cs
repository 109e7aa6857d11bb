// Reference of the C# cold start: mono running an empty Main.
static class Empty
{
    static void Main() { }
}
