/**
 * HTTP helpers with no servlet or server dependency, shared by the example server and any host or filter:
 * {@link dev.usher.gate.http.TrustedProxies} finds the client's address and scheme behind reverse proxies.
 *
 * <p>Every parameter and return value is non-null unless its documentation says otherwise.
 */
package dev.usher.gate.http;
