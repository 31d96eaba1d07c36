package dev.lockstep.api;

import java.security.Principal;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Names the caller of a request for reports and the audit log.
 */
final class Callers {

	private Callers() {
	}

	static String of(HttpServletRequest request) {
		Principal principal = request.getUserPrincipal();
		if (principal != null) {
			return principal.getName() + " from " + request.getRemoteAddr();
		}
		return "client " + request.getRemoteAddr();
	}

}
