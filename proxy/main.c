/* Placeholder entry point until the proxy lands. */
int main(void)
{
    return 0;
}
