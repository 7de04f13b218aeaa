export async function microSuite () { return [] }
