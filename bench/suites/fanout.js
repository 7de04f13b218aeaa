export async function fanoutSuite () { return [] }
