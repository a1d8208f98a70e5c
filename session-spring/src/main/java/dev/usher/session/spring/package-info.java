/**
 * A Spring Session bridge: {@link dev.usher.session.spring.UsherSessionRepository}, a
 * {@code FindByIndexNameSessionRepository} over Usher's {@link dev.usher.session.SessionManager}, so that an
 * application using {@code HttpSession} through Spring Session keeps its sessions in any Usher store (in
 * memory, SQLite, PostgreSQL, Redis, Redis Cluster) by changing one bean. Attribute values are encoded to
 * strings by {@link dev.usher.session.spring.AttributeCodec}s; Java serialization is opt-in and allow-listed.
 *
 * <p>Every parameter and return value is non-null unless its documentation says otherwise.
 */
package dev.usher.session.spring;
