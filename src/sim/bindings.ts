/**
 * The application's event handlers on a portal. Offline bindings (`event_type=offline`) are
 * what makes events land in the queue; `event.get` lists them and ground truth reports every
 * offline-bound name, with zeros when it has no rows.
 */

export interface Binding {
  /** Upper case, e.g. `ONCRMLEADADD`. */
  readonly event: string;
  /** Handler URL; empty for an offline binding. */
  readonly handler: string;
  readonly offline: boolean;
  /** `auth_connector`; empty = none. */
  readonly connector: string;
}

export interface BindOptions {
  /** @default true */
  readonly offline?: boolean;
  /** @default '' */
  readonly handler?: string;
  /** @default '' */
  readonly connector?: string;
}

export class EventBindings {
  private readonly items: Binding[] = [];

  /** Adds a binding; false when the same one exists already. */
  bind(event: string, options: BindOptions = {}): boolean {
    const binding: Binding = {
      event: event.toUpperCase(),
      handler: options.offline === false ? (options.handler ?? '') : '',
      offline: options.offline ?? true,
      connector: options.connector ?? '',
    };
    if (this.items.some((item) => sameBinding(item, binding))) return false;
    this.items.push(binding);
    return true;
  }

  /** Removes matching bindings (any handler/connector when not given); how many went. */
  unbind(event: string, options: BindOptions = {}): number {
    const name = event.toUpperCase();
    const offline = options.offline ?? true;
    let removed = 0;
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i]!;
      if (item.event !== name || item.offline !== offline) continue;
      if (options.handler !== undefined && !offline && item.handler !== options.handler) continue;
      if (options.connector !== undefined && item.connector !== options.connector) continue;
      this.items.splice(i, 1);
      removed++;
    }
    return removed;
  }

  list(): readonly Binding[] {
    return this.items;
  }

  /** Event names bound offline for a connector. */
  offlineNames(connector = ''): string[] {
    return this.items
      .filter((item) => item.offline && item.connector === connector)
      .map((item) => item.event);
  }
}

function sameBinding(a: Binding, b: Binding): boolean {
  return (
    a.event === b.event &&
    a.handler === b.handler &&
    a.offline === b.offline &&
    a.connector === b.connector
  );
}
