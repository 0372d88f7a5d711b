// Public API of versions, dependencies, the resolver and the repository client (re-exported by index.ts).
export {};
