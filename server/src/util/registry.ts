// Every table from a name to what it makes (cache policies, decoders, graph builders, CLI commands and suites) is a
// record keyed by its name list, so the compiler checks the table against the list. Lookups of names that come
// from outside (settings, argv, config files) go through here: an own-property check, so "toString" is unknown.

export function registryEntry<Name extends string, Entry>(registry: Readonly<Record<Name, Entry>>, name: string): Entry | undefined {
  return Object.hasOwn(registry, name) ? registry[name as Name] : undefined;
}

/** The names a registry holds, in its order. */
export function registryNames<Name extends string>(registry: Readonly<Record<Name, unknown>>): Name[] {
  return Object.keys(registry) as Name[];
}
