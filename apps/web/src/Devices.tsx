// The user's devices (from the server's directory), with a way to remove any other one.
import { useCallback, useEffect, useId, useState } from 'react';
import { describeError } from './errors.js';
import { useI18n } from './i18n.js';
import { codeOf, type DeviceView, type Session } from './session.js';
import { formatDay } from './time.js';
import { Modal } from './Verify.js';

export function DevicesDialog(props: { session: Session; onClose: () => void }) {
  const { t, language } = useI18n();
  const [devices, setDevices] = useState<DeviceView[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const titleId = useId();

  const load = useCallback(() => {
    props.session.devices().then(setDevices, (e: unknown) => {
      setError(codeOf(e));
    });
  }, [props.session]);
  useEffect(load, [load]);

  const remove = (id: string): void => {
    if (!window.confirm(t('removeDeviceConfirm', { id }))) return;
    props.session.removeDevice(id).then(load, (e: unknown) => {
      setError(codeOf(e));
    });
  };

  return (
    <Modal labelledBy={titleId} onCancel={props.onClose}>
      <h2 id={titleId}>{t('devicesTitle')}</h2>
      <p>{t('devicesIntro')}</p>
      {devices === undefined && error === undefined && <p role="status">{t('loading')}</p>}
      {devices !== undefined && (
        <ul className="devices" data-testid="devices">
          {devices.map((d) => (
            <li key={d.deviceId}>
              <code>{d.deviceId}</code>
              <span className="muted">{t('addedOn', { date: formatDay(d.createdAt, language, t('today'), t('yesterday')) })}</span>
              {d.current ? (
                <span className="badge ok">{t('thisDevice')}</span>
              ) : (
                <button
                  type="button"
                  onClick={() => {
                    remove(d.deviceId);
                  }}
                >
                  {t('removeDevice', { id: d.deviceId })}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {error !== undefined && (
        <p className="error" role="alert">
          {describeError(t, error)}
        </p>
      )}
      <div className="row">
        <button type="button" onClick={props.onClose}>
          {t('close')}
        </button>
      </div>
    </Modal>
  );
}
