// A failure's stable code as a sentence in the user's language.
import type { Translate } from './i18n.js';

export function describeError(t: Translate, code: string): string {
  switch (code) {
    case 'unknown-user':
      return t('errorUnknownUser');
    case 'no-key-packages':
    case 'no-identity-key':
      return t('errorNoDevice');
    case 'network':
      return t('errorNetwork');
    case 'username-taken':
      return t('errorTaken');
    case 'invalid-credentials':
    case 'unauthenticated':
      return t('errorCredentials');
    case 'invalid-invite':
      return t('errorInvite');
    case 'email-domain-not-allowed':
      return t('errorDomain');
    case 'invalid-email':
      return t('errorEmail');
    case 'email-required':
      return t('errorEmailRequired');
    case 'invalid-username':
      return t('errorUsername');
    case 'too-short':
      return t('errorShort');
    case 'profile-in-use':
      return t('errorInUse');
    case 'body-too-large':
      return t('errorTooLarge');
    case 'wrong-passphrase':
      return t('wrongPassphrase');
    // groups (weba)
    case 'no-identity-backup':
      return t('errorNoBackup');
    case 'backup-passphrase':
    case 'identity-key-mismatch':
    case 'malformed-identity-backup':
      return t('errorBackup');
    case 'already-member':
      return t('errorAlreadyMember');
    case 'self-member':
      return t('errorSelf');
    case 'contact-unverified':
      return t('errorUnverified');
    case 'policy-violation':
    case 'forbidden':
      return t('errorNotAllowed');
    // identity key pin (webiks)
    case 'identity-key-unacknowledged':
      return t('errorKeyUnacknowledged');
    case 'identity-key-changed':
      return t('errorKeyChangedAgain');
    case 'backup-passphrase-required':
      return t('errorBackupPassphraseRequired');
    case 'backup-passphrase-is-password':
      return t('errorBackupPassphraseIsPassword');
    default:
      return t('error', { code });
  }
}

/** A problem the conversation lists: a client warning in words, else an error by its code. */
export function describeProblem(t: Translate, code: string): string {
  switch (code) {
    case 'identity-key-unacknowledged':
      return t('warnKeyUnacknowledged');
    case 'message-misrouted':
      return t('warnMisrouted');
    default:
      return t('unprocessable', { code });
  }
}
