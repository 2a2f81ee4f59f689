export declare const spec: string
export declare const committed: string
export declare function schemaDrift(): string | null
