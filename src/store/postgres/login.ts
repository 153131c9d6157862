/**
 * `login` against muvee's own PostgreSQL (`--db postgres://…` or DATABASE_URL): a dry run by
 * default, reporting what muvee would do with *this* database and writing nothing; `--apply`
 * performs muvee's writes in one transaction (pg-store.ts).
 */
import { CliError } from '../../cli/errors.js';
import type { LoginPlan } from '../plan.js';
import type { LoginInput, LoginResult } from '../sqlite/store.js';
import type { LoginStore } from '../../login/flow.js';
import { interruptedError } from '../../login/flow.js';

/** Pure: a dry run's plan in the shape of a login's result (the report prints either). */
export function planAsResult(plan: LoginPlan): LoginResult {
  if (plan.refused) {
    throw new CliError(
      'policy-denied',
      `muvee would refuse ${plan.email}: the access mode is 'invite' and this email is neither invited nor a member (muvee shows /login?error=not_invited). Nothing was written (dry run)`,
      { details: { email: plan.email, accessMode: plan.accessMode, refused: plan.refused } },
    );
  }
  const existing = plan.existing;
  return {
    user: {
      id: plan.userId ?? '(new: muvee assigns the id at insert)',
      email: plan.email,
      name: plan.name,
      avatarUrl: plan.avatarUrl,
      role: plan.role,
      authorized: plan.authorized,
      member: true,
      legacyRole: existing?.legacyRole ?? 'member',
      nameOverridden: plan.nameKept,
      avatarOverridden: plan.avatarKept,
      createdAt: existing?.createdAt ?? '(at insert)',
      lastLoginAt: null,
    },
    created: plan.user === 'new',
    promoted: plan.promote,
    accessMode: plan.accessMode,
    decision: plan.decision,
    previousEmailForUnionId: undefined,
    otherUnionIds: [],
  };
}

/** The flow's store for muvee's PostgreSQL: a dry run (`planLogin`) unless `apply`. */
export function postgresStore(
  url: string,
  apply: boolean,
  signal: AbortSignal,
): () => Promise<LoginStore> {
  return async () => {
    const { openUserStore } = await import('../index.js');
    if (signal.aborted) throw interruptedError();
    const store = await openUserStore(url);
    return {
      recordLogin: async (input: LoginInput) =>
        apply ? store.recordLogin(input) : planAsResult(await store.planLogin(input)),
      close: () => store.close(),
    };
  };
}
