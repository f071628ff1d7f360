// Who is calling. Every row a user makes carries their name as its owner; an admin sees every owner's.

export interface Principal {
  /** The user's name: from MLR_API_TOKENS (`name=token`) or the OIDC subject. */
  name: string;
  admin: boolean;
}

/** The owner filter a store applies: a user's name, or null for an admin (every owner). */
export type OwnerScope = string | null;

export const scopeOf = (p: Principal): OwnerScope => (p.admin ? null : p.name);
