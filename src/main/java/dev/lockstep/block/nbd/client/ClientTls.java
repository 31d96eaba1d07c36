package dev.lockstep.block.nbd.client;

import javax.net.ssl.SSLEngine;

/**
 * Makes the TLS engine for one connection to a server: client mode, with the trust
 * material that checks the server's certificate and the name it must carry, and the
 * certificate the client presents.
 */
@FunctionalInterface
public interface ClientTls {

	/**
	 * Makes an engine for a connection to {@code host}.
	 * @param host the server's host name or address, which its certificate must name
	 * @param port the server's port
	 * @return a client-mode engine, not started yet
	 */
	SSLEngine engine(String host, int port);

}
